using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace SearchByImage;

/// <summary>
/// Range checks for numeric options that run only on values that parsed: a validator that reads a value the parser
/// rejected (<c>--top abc</c>, <c>--top 99999999999</c>) throws, and the parser's own one-line error is what the user
/// should see.
/// </summary>
internal static class CliValidation
{
    public static void AtLeastOne(Option<int> option)
    {
        option.Validators.Add(r =>
        {
            if (Parsed(r, s => int.TryParse(s, NumberStyles.Integer, CultureInfo.CurrentCulture, out _)) && r.GetValueOrDefault<int>() <= 0)
            {
                r.AddError($"{option.Name} must be at least 1.");
            }
        });
    }

    public static void AtLeastOne(Option<int?> option)
    {
        option.Validators.Add(r =>
        {
            if (Parsed(r, s => int.TryParse(s, NumberStyles.Integer, CultureInfo.CurrentCulture, out _)) && r.GetValueOrDefault<int?>() is <= 0)
            {
                r.AddError($"{option.Name} must be at least 1.");
            }
        });
    }

    public static void AtLeastOne(Option<long?> option)
    {
        option.Validators.Add(r =>
        {
            if (Parsed(r, s => long.TryParse(s, NumberStyles.Integer, CultureInfo.CurrentCulture, out _)) && r.GetValueOrDefault<long?>() is <= 0)
            {
                r.AddError($"{option.Name} must be at least 1.");
            }
        });
    }

    public static void Between(Option<float?> option, float min, float max)
    {
        option.Validators.Add(r =>
        {
            if (Parsed(r, s => float.TryParse(s, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.CurrentCulture, out _))
                && r.GetValueOrDefault<float?>() is { } v && !(v >= min && v <= max))
            {
                r.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} must be between {min} and {max}."));
            }
        });
    }

    private static bool Parsed(OptionResult result, Func<string, bool> tryParse) => result.Tokens.All(t => tryParse(t.Value));
}
