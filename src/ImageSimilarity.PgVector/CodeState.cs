namespace ImageSimilarity.PgVector;

/// <summary>How codes are made right now: the kind, a version bumped at every rebuild, and the thresholds (null for sign codes).</summary>
internal sealed record CodeState(BinaryCodeKind Kind, int Version, float[]? Thresholds);
