# The installed library and the examples (tests/integration/it_install_examples.c): `cmake
# --install` of this build into a temp prefix, examples/*.c compiled against it through
# pkg-config, and run against a throwaway source server.
set(pgh_example_flags "-std=c11 -Wall -Wextra -Werror")
if(PGH_SANITIZE)
  # The installed library is instrumented: its users link the sanitizer runtimes too.
  string(APPEND pgh_example_flags " -fsanitize=address,undefined")
endif()
add_executable(it_install_examples ${CMAKE_CURRENT_LIST_DIR}/it_install_examples.c)
target_link_libraries(it_install_examples PRIVATE pgh_test_harness PkgConfig::JANSSON)
target_compile_definitions(it_install_examples PRIVATE
  PGH_CMAKE="${CMAKE_COMMAND}" PGH_BUILD_DIR="${PROJECT_BINARY_DIR}"
  PGH_SOURCE_DIR="${PROJECT_SOURCE_DIR}" PGH_LIBDIR="${CMAKE_INSTALL_LIBDIR}"
  PGH_CC="${CMAKE_C_COMPILER}" PGH_EXAMPLE_FLAGS="${pgh_example_flags}")
# What `cmake --install` copies must be built first.
add_dependencies(it_install_examples pghost pghost_lib pghost_shared)
add_test(NAME install_examples COMMAND it_install_examples)
set_tests_properties(install_examples PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                                                 TIMEOUT 600)
