using System.CommandLine;
using System.CommandLine.Invocation;
using SearchByImage;

var root = Commands.CreateRoot();

// A parse error is one line (the parser's own message) and exit code 1, not the whole help text.
var parseResult = root.Parse(args);
if (parseResult.Action is ParseErrorAction parseError)
{
    parseError.ShowHelp = false;
}

// Ctrl-C / SIGTERM cancel the command's token; the command saves what it did and exits 130 / 143.
using var signals = new TerminationSignals();
return await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token).ConfigureAwait(false);
