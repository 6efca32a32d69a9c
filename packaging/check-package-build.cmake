# CPack pre-build check: a package is only ever made from a build that may
# be installed. Fault injection (BOXJAIL_FAIL_STEP) and sanitizers are for
# the test suite.
if(CPACK_BOXJAIL_TEST_BUILD)
  message(FATAL_ERROR "boxjail: refusing to package a test build (fault injection or "
                      "sanitizers on); configure with -DBOXJAIL_FAULT_INJECTION=OFF "
                      "-DBOXJAIL_SANITIZE=OFF, or use `cmake --build BUILD --target deb`")
endif()
