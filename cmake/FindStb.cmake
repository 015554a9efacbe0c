# FindStb — locates the stb single-file headers (Debian: libstb-dev, /usr/include/stb) and
# provides the INTERFACE target seam_stb (exported as seam::stb... through seam's export set).
find_path(STB_INCLUDE_DIR NAMES stb_image.h PATH_SUFFIXES stb)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Stb REQUIRED_VARS STB_INCLUDE_DIR)
if(Stb_FOUND AND NOT TARGET seam_stb)
  add_library(seam_stb INTERFACE)
  target_include_directories(seam_stb SYSTEM INTERFACE ${STB_INCLUDE_DIR})
endif()
