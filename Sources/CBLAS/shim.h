// OpenBLAS's CBLAS interface, plus its thread-control calls
// (openblas_set_num_threads / openblas_get_num_threads), both declared in cblas.h.
#include <cblas.h>
