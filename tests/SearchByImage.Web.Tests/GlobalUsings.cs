global using ImageSimilarity.TestSupport;
global using Microsoft.Extensions.DependencyInjection;
global using SearchByImage.Web.TestSupport;
global using Xunit;
