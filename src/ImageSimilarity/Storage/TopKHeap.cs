namespace ImageSimilarity.Storage;

/// <summary>A bounded min-heap that keeps the <c>k</c> best (score, slot) pairs seen.</summary>
/// <remarks>Not thread-safe: each search thread owns one and the results are merged afterwards.</remarks>
internal sealed class TopKHeap
{
    private readonly float[] _scores;
    private readonly int[] _slots;
    private readonly float _floor;

    public TopKHeap(int capacity, float floor)
    {
        _scores = new float[capacity];
        _slots = new int[capacity];
        _floor = floor;
        Threshold = floor;
    }

    public int Count { get; private set; }

    /// <summary>Gets the score a candidate must exceed to enter (the floor until full, then the worst kept).</summary>
    public float Threshold { get; private set; }

    public void Clear()
    {
        Count = 0;
        Threshold = _floor;
    }

    /// <summary>Adds a candidate the caller has checked to be above <see cref="Threshold"/>.</summary>
    public void Push(float score, int slot)
    {
        if (Count < _scores.Length)
        {
            var i = Count++;
            while (i > 0)
            {
                var parent = (i - 1) >> 1;
                if (!Worse(score, slot, _scores[parent], _slots[parent]))
                {
                    break;
                }

                _scores[i] = _scores[parent];
                _slots[i] = _slots[parent];
                i = parent;
            }

            _scores[i] = score;
            _slots[i] = slot;
            if (Count == _scores.Length)
            {
                Threshold = Math.Max(_floor, _scores[0]);
            }

            return;
        }

        if (!Worse(_scores[0], _slots[0], score, slot))
        {
            return;
        }

        SiftDownFromRoot(score, slot);
        Threshold = Math.Max(_floor, _scores[0]);
    }

    public void MergeInto(TopKHeap other)
    {
        for (var i = 0; i < Count; i++)
        {
            if (_scores[i] >= other.Threshold)
            {
                other.Push(_scores[i], _slots[i]);
            }
        }
    }

    /// <summary>Returns the kept pairs, best first (higher score, then lower slot for a stable order).</summary>
    public (float Score, int Slot)[] ToSortedArray()
    {
        var result = new (float Score, int Slot)[Count];
        for (var i = 0; i < Count; i++)
        {
            result[i] = (_scores[i], _slots[i]);
        }

        Array.Sort(result, static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Slot.CompareTo(b.Slot));
        return result;
    }

    // "a is worse than b": lower score, or the same score and a later slot. The slot tie-break makes results
    // independent of how the scan was split across threads.
    private static bool Worse(float aScore, int aSlot, float bScore, int bSlot)
        => aScore < bScore || (aScore == bScore && aSlot > bSlot);

    private void SiftDownFromRoot(float score, int slot)
    {
        var n = Count;
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && Worse(_scores[child + 1], _slots[child + 1], _scores[child], _slots[child]))
            {
                child++;
            }

            if (!Worse(_scores[child], _slots[child], score, slot))
            {
                break;
            }

            _scores[i] = _scores[child];
            _slots[i] = _slots[child];
            i = child;
        }

        _scores[i] = score;
        _slots[i] = slot;
    }
}
