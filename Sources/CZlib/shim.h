// zlib's raw inflate, used to read deflate-compressed .npz members (numpy.savez_compressed).
#include <zlib.h>
