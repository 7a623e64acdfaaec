// read_frame: the C example again through the C++ wrapper (mattebox.hpp).
// Builds with or without exceptions:
//
//   c++ -std=c++17 -fno-exceptions -I ffi/include examples/cpp/read_frame.cpp -L target/release -lmattebox -o read_frame_cpp
//   LD_LIBRARY_PATH=target/release ./read_frame_cpp clip.mp4 [INDEX]
#include <cstdio>
#include <cstdlib>

#include "mattebox.hpp"

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: read_frame_cpp FILE [INDEX]\n");
        return 2;
    }
    if (!mattebox::abi_compatible()) {
        std::fprintf(stderr, "read_frame_cpp: libmattebox %s has an incompatible ABI\n", mattebox::version().c_str());
        return 1;
    }
    const uint64_t index = argc == 3 ? std::strtoull(argv[2], nullptr, 10) : 0;

    auto runtime = mattebox::Runtime::create();
    if (!runtime) {
        std::fprintf(stderr, "read_frame_cpp: %s\n", runtime.error().message().c_str());
        return 1;
    }
    auto media = mattebox::Media::open(*runtime, argv[1]);
    if (!media) {
        std::fprintf(stderr, "read_frame_cpp: %s\n", media.error().message().c_str());
        return 1;
    }
    auto pixels = media->read_frame_rgba8(index);
    if (!pixels) {
        std::fprintf(stderr, "read_frame_cpp: %s\n", pixels.error().message().c_str());
        return 1;
    }
    const uint32_t w = media->width(), h = media->height();
    const uint8_t* centre = pixels->data() + (size_t(h / 2) * w + w / 2) * 4;
    std::printf("%s: %ux%u, %llu frames at %.3f fps, codec %s\n", argv[1], w, h,
                (unsigned long long)media->frame_count(), media->frame_rate(), media->codec().c_str());
    std::printf("frame %llu: %ux%u, centre pixel rgba(%u, %u, %u, %u)\n", (unsigned long long)index, w, h, centre[0],
                centre[1], centre[2], centre[3]);
    return 0;
}
