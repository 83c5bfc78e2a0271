"""EXIF orientation reference: where Pillow's ImageOps.exif_transpose puts every pixel.

Prints JSON {orientation: [width, height, [source index of each output pixel, row-major]]} for a 5x3 image whose
pixel i has red = i, for orientations 1 to 8 (set in the image's EXIF, as a camera writes it).
"""
import json
import sys

from PIL import Image, ImageOps


def main():
    width, height = 5, 3
    out = {}
    for orientation in range(1, 9):
        image = Image.new("RGB", (width, height))
        image.putdata([(i, 0, 0) for i in range(width * height)])
        image.getexif()[0x0112] = orientation
        turned = ImageOps.exif_transpose(image)
        out[orientation] = [turned.width, turned.height, [p[0] for p in turned.getdata()]]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
