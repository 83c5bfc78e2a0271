using ImageSimilarity;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using SearchByImage.Web.Api;
using SearchByImage.Web.Services;

namespace SearchByImage.Web;

/// <summary>The app's services and pipeline, shared by <c>Program</c> and the tests.</summary>
internal static class WebApp
{
    /// <summary>The library's configuration section (<c>ImageSimilarity__IndexPath</c>, ...).</summary>
    public const string LibrarySection = "ImageSimilarity";

    public static void AddSearchByImageWeb(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        var librarySection = configuration.GetSection(LibrarySection);

        // The index: a PostgreSQL table when a connection string is configured, else the CLI's index file. Either way
        // the model settings the CLI recorded with it are the defaults.
        IReadOnlyDictionary<string, string>? recorded = null;
        if (PostgresStore.Connection(configuration) is { } connection)
        {
            var pgOptions = PostgresStore.Options(configuration);
            recorded = PostgresStore.RecordedProperties(connection, pgOptions);
            PostgresStore.Add(services, connection, pgOptions);
        }

        ModelRegistration.AddModel(services, configuration, librarySection, recorded);
        services.AddImageSimilarity(librarySection);
        if (recorded is not null)
        {
            PostgresStore.AddStartupCheck(services);
        }

        services.AddOptions<ImageSimilarityOptions>()
            .PostConfigure<ILoggerFactory>((options, logs) => IndexDefaults.Apply(options, librarySection, logs.CreateLogger(typeof(IndexDefaults)), recorded));

        services.AddOptions<WebAppOptions>()
            .Bind(configuration.GetSection(WebAppOptions.SectionName))
            .Validate(o =>
            {
                o.Validate();
                return true;
            })
            .ValidateOnStart();
        // The whole request body is limited; the multipart reader enforces it where the server does not (tests).
        services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<WebAppOptions>>((kestrel, web) => kestrel.Limits.MaxRequestBodySize = web.Value.MaxUploadBytes);
        services.AddOptions<FormOptions>()
            .Configure<IOptions<WebAppOptions>>((form, web) =>
            {
                form.MultipartBodyLengthLimit = web.Value.MaxUploadBytes;
                form.ValueCountLimit = 16;
            });

        services.AddSingleton<ExtractionQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<ExtractionQueue>());
        services.AddSingleton<SearchService>();
        services.AddSingleton<IndexStatusService>();
        services.AddSingleton<ImageFiles>();
        services.AddMemoryCache(c => c.SizeLimit = 64L * 1024 * 1024);
        services.AddAntiforgery(a =>
        {
            a.HeaderName = "X-CSRF-TOKEN";
            a.Cookie.Name = "SearchByImage.Antiforgery";
        });
        services.AddProblemDetails(p => p.CustomizeProblemDetails = context =>
        {
            // The router refuses uploads that are not multipart before the endpoint runs: say what to send.
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && context.ProblemDetails.Detail is null)
            {
                context.ProblemDetails.Detail = "POST the image as multipart/form-data with the file in a field named 'image'.";
                context.ProblemDetails.Extensions["code"] = "not-multipart";
            }
        });
        services.AddOpenApi();
        services.AddHealthChecks().AddCheck<IndexHealthCheck>("index");
    }

    public static void UseSearchByImageWeb(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A request body the server refuses (too large, malformed) is the client's error, not a 500.
            StatusCodeSelector = ex => ex is Microsoft.AspNetCore.Http.BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.Use(async (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
            await next(context).ConfigureAwait(false);
        });
        app.UseStaticFiles();
        app.MapPage();
        app.MapSearchEndpoints();
        app.MapImageEndpoints();
        app.MapIndexEndpoints();
        app.MapAdminEndpoints();
        app.MapHealthChecks("/health");
        app.MapOpenApi();
    }
}
