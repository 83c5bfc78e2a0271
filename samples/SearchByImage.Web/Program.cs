using SearchByImage.Web;

var builder = WebApplication.CreateBuilder(args);
builder.AddSearchByImageWeb();
var app = builder.Build();
app.UseSearchByImageWeb();
app.Run();

/// <summary>The entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
