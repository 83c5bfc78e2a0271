using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;

namespace SearchByImage.Web.TestSupport;

/// <summary>The real app on the seed index, configured as a user would: the "ImageSimilarity" and "SearchByImage" configuration sections.</summary>
public sealed class WebAppFactory : WebApplicationFactory<Program>
{
    private readonly SeedIndex _index;
    private readonly IReadOnlyDictionary<string, string?> _settings;

    public WebAppFactory(SeedIndex index, IReadOnlyDictionary<string, string?>? settings = null, bool kestrel = false)
    {
        _index = index;
        _settings = settings ?? new Dictionary<string, string?>();
        if (kestrel)
        {
            // A real server on 127.0.0.1 and a free port, for the browser.
            UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        }
    }

    /// <summary>Gets the address of the Kestrel server (after <see cref="WebApplicationFactory{TEntryPoint}.StartServer"/>).</summary>
    public Uri ServerAddress
    {
        get
        {
            var server = Services.GetRequiredService<IServer>();
            var address = server.Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new Uri(address);
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("ImageSimilarity:IndexPath", _index.IndexPath);
        builder.UseSetting("ImageSimilarity:WeightsPath", _index.WeightsPath);
        builder.UseSetting("ImageSimilarity:Precision", "BFloat16");
        builder.UseSetting("ImageSimilarity:AllowDownload", "false");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}
