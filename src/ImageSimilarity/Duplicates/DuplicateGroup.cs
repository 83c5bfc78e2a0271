namespace ImageSimilarity.Duplicates;

/// <summary>A group of near-identical images: the suggested keeper first, then the others by descending similarity to it.</summary>
/// <param name="Members">The images (at least two); <c>Members[0]</c> is the suggested keeper.</param>
public sealed record DuplicateGroup(IReadOnlyList<DuplicateMember> Members)
{
    /// <summary>Gets the suggested keeper: the largest pixel count, then the oldest file, then the smallest id.</summary>
    public DuplicateMember Keeper => Members[0];
}
