// JPEG (libjpeg-turbo) and PNG (libpng) decoding to 8-bit RGB, with errors returned as text.
// libjpeg reports errors by longjmp, which Swift cannot catch; this C shim turns them into return
// codes. Pixels are row-major height x width x 3, allocated with malloc; free with hp_image_free.
#ifndef HPSWEEP_IMAGE_CODECS_H
#define HPSWEEP_IMAGE_CODECS_H

#include <stddef.h>

typedef struct {
    int width;
    int height;
    unsigned char *pixels;
    char error[200];
} hp_image;

/// Decodes a JPEG held in memory. Returns 0 on success; otherwise fills error and returns -1.
int hp_decode_jpeg(const unsigned char *data, size_t size, hp_image *out);

/// Decodes a PNG held in memory (any bit depth, palette, grey or alpha; alpha is dropped, as
/// PIL's convert("RGB") does). Returns 0 on success; otherwise fills error and returns -1.
int hp_decode_png(const unsigned char *data, size_t size, hp_image *out);

void hp_image_free(hp_image *image);

#endif
