using ImageSimilarity.Storage;

namespace ImageSimilarity.PgVector;

/// <summary>How a PostgreSQL table of vectors was made, as recorded in <c>imagesimilarity_stores</c>.</summary>
/// <param name="TableName">The table.</param>
/// <param name="Dimension">The vector length.</param>
/// <param name="ModelId">The model whose vectors it holds.</param>
/// <param name="Precision">How it keeps vectors.</param>
/// <param name="CodeKind">How the binary codes of the approximate index are made.</param>
/// <param name="HasApproximateIndex">Whether the HNSW index over the codes exists.</param>
/// <param name="CreatedUtc">When the table was made.</param>
/// <param name="Properties">Free-form properties kept with the table.</param>
public sealed record PgVectorStoreInfo(
    string TableName,
    int Dimension,
    string ModelId,
    VectorPrecision Precision,
    BinaryCodeKind CodeKind,
    bool HasApproximateIndex,
    DateTimeOffset CreatedUtc,
    IReadOnlyDictionary<string, string> Properties);
