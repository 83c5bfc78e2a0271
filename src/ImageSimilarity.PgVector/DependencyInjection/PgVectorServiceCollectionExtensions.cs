using ImageSimilarity.Extraction;
using ImageSimilarity.PgVector;
using ImageSimilarity.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="PgVectorStore"/> as the <see cref="IVectorStore"/> of an application.</summary>
public static class PgVectorServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PgVectorStore"/> as the singleton <see cref="IVectorStore"/> (replacing any earlier
    /// registration, so the order relative to <c>AddImageSimilarity</c> does not matter), on the
    /// <see cref="NpgsqlDataSource"/> registered in the container. The dimension and model come from the registered
    /// <see cref="IFeatureExtractor"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="options">Table name, precision, timeouts; <see langword="null"/> for the defaults.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <remarks>Register the data source yourself (<c>services.AddSingleton(NpgsqlDataSource.Create(connectionString))</c>, or Npgsql.DependencyInjection's <c>AddNpgsqlDataSource</c>), or use the overload with a connection string.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddImageSimilarityPgVector(this IServiceCollection services, PgVectorStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.RemoveAll<IVectorStore>();
        services.AddSingleton<IVectorStore>(sp =>
        {
            var extractor = sp.GetRequiredService<IFeatureExtractor>();
            return new PgVectorStore(sp.GetRequiredService<NpgsqlDataSource>(), extractor.Dimension, extractor.ModelId, options);
        });
        return services;
    }

    /// <summary>
    /// Registers an <see cref="NpgsqlDataSource"/> for <paramref name="connectionString"/> (unless one is registered
    /// already) and <see cref="PgVectorStore"/> as the <see cref="IVectorStore"/> on it.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="connectionString">For example <c>Host=db;Username=app;Password=...;Database=images</c>.</param>
    /// <param name="options">Table name, precision, timeouts; <see langword="null"/> for the defaults.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="connectionString"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty.</exception>
    public static IServiceCollection AddImageSimilarityPgVector(this IServiceCollection services, string connectionString, PgVectorStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        services.TryAddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        return services.AddImageSimilarityPgVector(options);
    }
}
