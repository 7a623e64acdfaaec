/*
 * read_frame: open a video, image sequence or still with libmattebox, read
 * one frame into a buffer of our own, and print what we got.
 *
 *   cc -std=c11 -I ffi/include examples/c/read_frame.c -L target/release -lmattebox -o read_frame
 *   LD_LIBRARY_PATH=target/release ./read_frame clip.mp4 [INDEX]
 */
#include <stdio.h>
#include <stdlib.h>

#include "mattebox.h"

static int fail(const char *what, mb_result code) {
    fprintf(stderr, "read_frame: %s failed (%s): %s\n", what, mb_result_name(code), mb_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: read_frame FILE [INDEX]\n");
        return 2;
    }
    if ((mb_abi_version() >> 16) != (MB_ABI_VERSION >> 16)) {
        fprintf(stderr, "read_frame: libmattebox speaks ABI %u, this program was built for %u\n",
                (unsigned)mb_abi_version(), (unsigned)MB_ABI_VERSION);
        return 1;
    }
    unsigned long long index = argc == 3 ? strtoull(argv[2], NULL, 10) : 0;

    mb_runtime *runtime = NULL;
    mb_result r = mb_runtime_new(NULL, &runtime);
    if (r != MB_RESULT_OK) return fail("mb_runtime_new", r);

    mb_media *media = NULL;
    r = mb_media_open(runtime, argv[1], &media);
    if (r != MB_RESULT_OK) {
        /* Report before the next mb_ call: it clears this thread's message. */
        fail("mb_media_open", r);
        mb_runtime_free(runtime);
        return 1;
    }
    mb_media_info info = {.struct_size = sizeof(mb_media_info)};
    mb_media_get_info(media, &info);

    /* Our own buffer, with a padded stride, as a host would have it. */
    size_t stride = (size_t)info.width * 4 + 64;
    size_t size = stride * info.height;
    unsigned char *pixels = malloc(size);
    mb_image image = {pixels, size, info.width, info.height, stride, MB_PIXEL_FORMAT_RGBA8};
    r = pixels ? mb_media_read_frame(media, index, &image) : MB_RESULT_OUT_OF_MEMORY;
    if (r != MB_RESULT_OK) fail("mb_media_read_frame", r);
    if (r == MB_RESULT_OK) {
        const unsigned char *centre = pixels + (info.height / 2) * stride + (info.width / 2) * 4;
        printf("%s: %ux%u, %llu frames at %lld/%lld fps, codec %s\n", argv[1], info.width, info.height,
               (unsigned long long)info.frame_count, (long long)info.frame_rate_num, (long long)info.frame_rate_den,
               mb_media_codec_name(media));
        printf("frame %llu: %ux%u, centre pixel rgba(%u, %u, %u, %u)\n", index, info.width, info.height, centre[0],
               centre[1], centre[2], centre[3]);
    }
    free(pixels);
    mb_media_close(media);
    mb_runtime_free(runtime);
    return r == MB_RESULT_OK ? 0 : 1;
}
