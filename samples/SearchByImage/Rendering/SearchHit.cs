namespace SearchByImage.Rendering;

/// <summary>One ranked match, as the renderers show it.</summary>
internal sealed record SearchHit(int Rank, string Id, string? Path, float Similarity);
