namespace ImageSimilarity.Duplicates;

/// <summary>Progress of <see cref="DuplicateFinder.FindAsync"/>: images searched so far of the total.</summary>
/// <param name="Searched">Images whose neighbours have been searched.</param>
/// <param name="Total">Images in the store.</param>
/// <param name="Links">Pairs at or above the threshold found so far that joined two groups.</param>
public sealed record DuplicateProgress(long Searched, long Total, long Links);
