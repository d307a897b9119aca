# The NATS mode's bus format (src/dest/nats/bus.h): one ctest entry per case of test_bus.c.
add_executable(test_bus ${CMAKE_CURRENT_LIST_DIR}/test_bus.c
               ${PROJECT_SOURCE_DIR}/src/dest/destination.c)
target_link_libraries(test_bus PRIVATE pgh_dest_nats pgh_config pgh_util PkgConfig::JANSSON
                      PkgConfig::NATS)
foreach(case begin changes others table_rows position malformed)
  add_test(NAME bus.${case} COMMAND test_bus ${case})
  set_tests_properties(bus.${case} PROPERTIES LABELS unit)
endforeach()
