namespace ImageSimilarity.Imaging;

/// <summary>How a decoded image becomes the 3x224x224 network input. Pick the preset that matches the weights.</summary>
public enum PreprocessingPreset
{
    /// <summary>
    /// torchvision's ImageNet transform, for the official torchvision VGG16 weights: resize the shorter side to 256
    /// (bilinear with antialias, Pillow's maths), centre crop 224, scale to [0,1], normalise with mean
    /// (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225); RGB channel order.
    /// </summary>
    Torchvision = 0,

    /// <summary>
    /// Keras' <c>load_img(target_size=(224, 224))</c> + <c>preprocess_input</c> in 'caffe' mode, for Keras weights:
    /// direct resize to 224x224 with Pillow's nearest neighbour, RGB to BGR, subtract (103.939, 116.779, 123.68), no scaling.
    /// It decodes as <c>load_img</c> does (<see cref="ImageDecoderOptions.KerasLoadImage"/>), whatever the decoder options
    /// say apart from the pixel limit: alpha dropped without compositing, EXIF orientation not applied.
    /// </summary>
    KerasCaffe = 1,
}
