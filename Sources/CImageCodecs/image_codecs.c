#include "image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

// Images beyond this many pixels are refused before allocation (a corrupt header must not make
// us allocate gigabytes).
#define HP_MAX_PIXELS (1u << 28)

struct hp_jpeg_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *message;
};

static void hp_jpeg_error_exit(j_common_ptr info) {
    struct hp_jpeg_error *error = (struct hp_jpeg_error *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    snprintf(error->message, 200, "JPEG: %s", text);
    longjmp(error->jump, 1);
}

static void hp_jpeg_silence(j_common_ptr info, int level) { (void)info; (void)level; }

int hp_decode_jpeg(const unsigned char *data, size_t size, hp_image *out) {
    struct jpeg_decompress_struct info;
    struct hp_jpeg_error error;
    unsigned char *volatile pixels = NULL;
    out->pixels = NULL;
    out->error[0] = 0;
    info.err = jpeg_std_error(&error.base);
    error.base.error_exit = hp_jpeg_error_exit;
    error.base.emit_message = hp_jpeg_silence;
    error.message = out->error;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&info);
        free(pixels);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        snprintf(out->error, sizeof out->error, "JPEG: CMYK images are not supported");
        jpeg_destroy_decompress(&info);
        return -1;
    }
    info.out_color_space = JCS_RGB;   // grey and YCbCr both convert to RGB
    info.dct_method = JDCT_ISLOW;     // libjpeg's (and PIL's) default, exact integer IDCT
    jpeg_start_decompress(&info);
    if ((size_t)info.output_width * info.output_height > HP_MAX_PIXELS || info.output_components != 3) {
        snprintf(out->error, sizeof out->error, "JPEG: unsupported size %ux%u", info.output_width, info.output_height);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    size_t stride = (size_t)info.output_width * 3;
    pixels = malloc(stride * info.output_height);
    if (!pixels) {
        snprintf(out->error, sizeof out->error, "out of memory");
        jpeg_destroy_decompress(&info);
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + stride * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    out->width = (int)info.output_width;
    out->height = (int)info.output_height;
    out->pixels = pixels;
    jpeg_destroy_decompress(&info);
    return 0;
}

int hp_decode_png(const unsigned char *data, size_t size, hp_image *out) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    out->pixels = NULL;
    out->error[0] = 0;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        snprintf(out->error, sizeof out->error, "PNG: %s", image.message);
        return -1;
    }
    if ((size_t)image.width * image.height > HP_MAX_PIXELS) {
        snprintf(out->error, sizeof out->error, "PNG: unsupported size %ux%u", image.width, image.height);
        png_image_free(&image);
        return -1;
    }
    // Read with alpha and drop it: requesting RGB would composite onto a background instead.
    image.format = PNG_FORMAT_RGBA;
    size_t count = (size_t)image.width * image.height;
    unsigned char *rgba = malloc(count * 4);
    if (!rgba) {
        snprintf(out->error, sizeof out->error, "out of memory");
        png_image_free(&image);
        return -1;
    }
    if (!png_image_finish_read(&image, NULL, rgba, 0, NULL)) {
        snprintf(out->error, sizeof out->error, "PNG: %s", image.message);
        free(rgba);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        rgba[3 * i + 0] = rgba[4 * i + 0];
        rgba[3 * i + 1] = rgba[4 * i + 1];
        rgba[3 * i + 2] = rgba[4 * i + 2];
    }
    out->width = (int)image.width;
    out->height = (int)image.height;
    out->pixels = rgba;
    return 0;
}

void hp_image_free(hp_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
