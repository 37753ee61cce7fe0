#ifndef PIXELFLY_CMPI_SHIM_H
#define PIXELFLY_CMPI_SHIM_H

// The MPI C API (Open MPI 4.1 on Debian: libopenmpi-dev; `pkg-config ompi-c` supplies the
// include path). Open MPI defines its predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM,
// MPI_IN_PLACE, …) as macros over addresses of global objects, which Swift cannot import, so
// the functions below return them. Any MPI implementation with the standard C API works.
#include <mpi.h>

static inline MPI_Comm pixelfly_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype pixelfly_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype pixelfly_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype pixelfly_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype pixelfly_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Op pixelfly_mpi_sum(void) { return MPI_SUM; }
static inline void *pixelfly_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request pixelfly_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *pixelfly_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline int pixelfly_mpi_success(void) { return MPI_SUCCESS; }
static inline int pixelfly_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int pixelfly_mpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }

#endif
