using SearchByImage;

var root = Commands.CreateRoot();

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
