namespace ImageSimilarity.PgVector.Distributed;

/// <summary>How a <see cref="DistributedIndexer"/> splits the work and holds its claims.</summary>
public sealed class DistributedIndexOptions
{
    /// <summary>Gets the default options: 16 files per batch, 5-minute leases, a worker id from host name and process id.</summary>
    public static DistributedIndexOptions Default { get; } = new();

    /// <summary>Gets how many files a batch holds when a listing is enqueued (a worker claims one batch at a time). Default 16.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside 1 to 10,000.</exception>
    public int BatchSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 10_000);
            field = value;
        }
    }

    = 16;

    /// <summary>
    /// Gets how long a claim lasts without renewal. A live worker renews it every third of this time; the batch of a
    /// worker that died is taken by another once it expires. Default 5 minutes.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below one second or above a day.</exception>
    public TimeSpan LeaseDuration
    {
        get;
        init
        {
            if (value < TimeSpan.FromSeconds(1) || value > TimeSpan.FromDays(1))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The lease must last between one second and one day.");
            }

            field = value;
        }
    }

    = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets this worker's name, shown by the status and kept with its claims. A worker that restarts under the same name
    /// takes its own unfinished batch back at once instead of waiting for the lease to expire. Default
    /// <c>host:pid</c>.
    /// </summary>
    public string WorkerId { get; init; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>
    /// Gets how a listed path becomes a record id. Default: the path as listed (use a path every machine shares, such
    /// as a mount point or a URI-like name).
    /// </summary>
    public Func<string, string> IdOf { get; init; } = static path => path;
}
