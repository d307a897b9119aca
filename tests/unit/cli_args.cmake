# The command line without a server: runs the pghost binary on files in a temp dir.
add_executable(test_cli_args ${CMAKE_CURRENT_LIST_DIR}/test_cli_args.c)
target_link_libraries(test_cli_args PRIVATE pgh_test_harness)
target_compile_definitions(test_cli_args PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(test_cli_args pghost)
add_test(NAME cli_args COMMAND test_cli_args)
set_tests_properties(cli_args PROPERTIES LABELS unit TIMEOUT 300)
