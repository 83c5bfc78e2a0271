namespace ImageSimilarity.Imaging;

/// <summary>
/// Resizing with the exact arithmetic of Pillow (the library torchvision and Keras resize PIL images with), so
/// that preprocessing matches the Python reference pipelines rather than approximating them.
/// </summary>
/// <remarks>
/// Bilinear: a separable triangle filter whose support widens with the downscale factor (that is the antialias),
/// coefficients normalised per output pixel then rounded to 22-bit fixed point, horizontal pass first into an
/// 8-bit intermediate (rounded, clipped), then the vertical pass. Nearest: source positions accumulated in double
/// precision exactly as Pillow's affine scaler does, which matters where a position lands on an integer.
/// SkiaSharp's own filters use different kernels, so they cannot give these values.
/// Single-threaded on purpose: callers preprocess several images at once (the indexer's decode workers), and
/// nested parallel loops there only compete with the model's threads.
/// </remarks>
internal static class PillowResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    public static RgbImage Bilinear(RgbImage src, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (width == src.Width && height == src.Height)
        {
            return src;
        }

        var (vBounds, vKernel, vSize) = Coefficients(src.Height, height);
        var firstRow = vBounds[0];
        var lastRow = vBounds[(height * 2) - 2] + vBounds[(height * 2) - 1];

        var current = src;
        var rowOffset = 0;
        if (width != src.Width)
        {
            var (hBounds, hKernel, hSize) = Coefficients(src.Width, width);
            current = Horizontal(src, width, firstRow, lastRow - firstRow, hBounds, hKernel, hSize);
            rowOffset = firstRow;
        }

        if (height != src.Height)
        {
            current = Vertical(current, height, rowOffset, vBounds, vKernel, vSize);
        }

        return current;
    }

    public static RgbImage Nearest(RgbImage src, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (width == src.Width && height == src.Height)
        {
            return src;
        }

        var xs = NearestTable(src.Width, width);
        var ys = NearestTable(src.Height, height);
        var dst = new RgbImage(width, height);
        var s = src.Pixels;
        var d = dst.Pixels;
        var bpp = src.BytesPerPixel;
        for (var y = 0; y < height; y++)
        {
            var srcRow = ys[y] * src.Stride;
            var dstRow = y * dst.Stride;
            for (var x = 0; x < width; x++)
            {
                var si = srcRow + (xs[x] * bpp);
                var di = dstRow + (x * 3);
                d[di] = s[si];
                d[di + 1] = s[si + 1];
                d[di + 2] = s[si + 2];
            }
        }

        return dst;
    }

    private static int[] NearestTable(int inSize, int outSize)
    {
        var scale = (double)inSize / outSize;
        var pos = scale * 0.5;
        var table = new int[outSize];
        for (var i = 0; i < outSize; i++)
        {
            var p = pos < 0.0 ? -1 : (int)pos;
            table[i] = Math.Clamp(p, 0, inSize - 1);
            pos += scale;
        }

        return table;
    }

    private static (int[] Bounds, int[] Kernel, int KernelSize) Coefficients(int inSize, int outSize)
    {
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = 1.0 * filterScale;
        var kernelSize = ((int)Math.Ceiling(support) * 2) + 1;
        var bounds = new int[outSize * 2];
        var kernel = new int[outSize * kernelSize];
        var weights = new double[kernelSize];
        var inverse = 1.0 / filterScale;
        for (var xx = 0; xx < outSize; xx++)
        {
            var center = (xx + 0.5) * scale;
            var xmin = (int)(center - support + 0.5);
            if (xmin < 0)
            {
                xmin = 0;
            }

            var xmax = (int)(center + support + 0.5);
            if (xmax > inSize)
            {
                xmax = inSize;
            }

            xmax -= xmin;
            var total = 0.0;
            for (var x = 0; x < xmax; x++)
            {
                var w = Triangle((x + xmin - center + 0.5) * inverse);
                weights[x] = w;
                total += w;
            }

            for (var x = 0; x < xmax; x++)
            {
                var w = total != 0.0 ? weights[x] / total : weights[x];
                var fixedPoint = w * (1 << PrecisionBits);
                kernel[(xx * kernelSize) + x] = w < 0 ? (int)(-0.5 + fixedPoint) : (int)(0.5 + fixedPoint);
            }

            bounds[xx * 2] = xmin;
            bounds[(xx * 2) + 1] = xmax;
        }

        return (bounds, kernel, kernelSize);
    }

    private static double Triangle(double x)
    {
        if (x < 0.0)
        {
            x = -x;
        }

        return x < 1.0 ? 1.0 - x : 0.0;
    }

    private static byte Clip8(int value)
    {
        if (value >= (1 << PrecisionBits << 8))
        {
            return 255;
        }

        return value <= 0 ? (byte)0 : (byte)(value >> PrecisionBits);
    }

    private static RgbImage Horizontal(RgbImage src, int width, int firstRow, int rows, int[] bounds, int[] kernel, int kernelSize)
    {
        var dst = new RgbImage(width, rows);
        var s = src.Pixels;
        var d = dst.Pixels;
        var srcStride = src.Stride;
        var bpp = src.BytesPerPixel;
        for (var y = 0; y < rows; y++)
        {
            var srcRow = (y + firstRow) * srcStride;
            var dstRow = y * dst.Stride;
            for (var xx = 0; xx < width; xx++)
            {
                var xmin = bounds[xx * 2];
                var xmax = bounds[(xx * 2) + 1];
                var k = xx * kernelSize;
                int r = 1 << (PrecisionBits - 1), g = r, b = r;
                var si = srcRow + (xmin * bpp);
                for (var x = 0; x < xmax; x++, si += bpp)
                {
                    var c = kernel[k + x];
                    r += s[si] * c;
                    g += s[si + 1] * c;
                    b += s[si + 2] * c;
                }

                var di = dstRow + (xx * 3);
                d[di] = Clip8(r);
                d[di + 1] = Clip8(g);
                d[di + 2] = Clip8(b);
            }
        }

        return dst;
    }

    private static RgbImage Vertical(RgbImage src, int height, int rowOffset, int[] bounds, int[] kernel, int kernelSize)
    {
        var width = src.Width;
        var dst = new RgbImage(width, height, src.BytesPerPixel);
        var s = src.Pixels;
        var d = dst.Pixels;
        var stride = src.Stride;
        for (var yy = 0; yy < height; yy++)
        {
            var ymin = bounds[yy * 2] - rowOffset;
            var ymax = bounds[(yy * 2) + 1];
            var k = yy * kernelSize;
            var dstRow = yy * dst.Stride;
            for (var i = 0; i < stride; i++)
            {
                var acc = 1 << (PrecisionBits - 1);
                var si = (ymin * stride) + i;
                for (var y = 0; y < ymax; y++, si += stride)
                {
                    acc += s[si] * kernel[k + y];
                }

                d[dstRow + i] = Clip8(acc);
            }
        }

        return dst;
    }
}
