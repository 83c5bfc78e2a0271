namespace ImageSimilarity.Imaging;

/// <summary>What the decoder does with transparent and semi-transparent pixels.</summary>
public enum TransparencyMode
{
    /// <summary>
    /// Composite over <see cref="ImageDecoderOptions.Background"/> (white by default) with Pillow's <c>alpha_composite</c>
    /// integer maths: a transparent pixel becomes the background colour. What the torchvision preset uses.
    /// </summary>
    CompositeOverBackground = 0,

    /// <summary>
    /// Drop the alpha channel and keep the colour each pixel stores, as Pillow's <c>convert('RGB')</c> does (which is
    /// what Keras' <c>load_img</c> calls): a fully transparent pixel keeps whatever colour the file stores for it, and a
    /// palette image's transparent index shows its palette colour. What the keras-caffe preset uses.
    /// </summary>
    Ignore = 1,
}
