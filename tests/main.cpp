// The single doctest main for the CPU test program (every tests/*.cpp links into seam_tests).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
