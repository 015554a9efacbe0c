# SEAM_CUDA=AUTO|ON|OFF. AUTO builds the CUDA backend when nvcc is found; ON without nvcc is a
# configure error; OFF never looks. Without the backend every request for a CUDA device throws
# "seam was built without CUDA" at run time (include/seam/core/device.hpp).
set(SEAM_HAS_CUDA OFF)
if(NOT SEAM_CUDA MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "SEAM_CUDA must be AUTO, ON or OFF (got '${SEAM_CUDA}')")
endif()
if(NOT SEAM_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(SEAM_HAS_CUDA ON)
  elseif(SEAM_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SEAM_CUDA=ON but no CUDA compiler (nvcc) was found. "
                        "Install the CUDA toolkit, set CMAKE_CUDA_COMPILER, or use SEAM_CUDA=AUTO/OFF.")
  else()
    message(STATUS "seam: nvcc not found, building without CUDA (SEAM_CUDA=AUTO)")
  endif()
endif()
if(SEAM_HAS_CUDA AND EXISTS ${PROJECT_SOURCE_DIR}/src/cuda/seam_cuda.cu)
  include(${PROJECT_SOURCE_DIR}/cmake/SeamCudaTarget.cmake OPTIONAL)
endif()
