# The tapered cuts of the copy's key ranges (source/copy_taper.h): pure arithmetic.
add_executable(test_copy_taper ${CMAKE_CURRENT_LIST_DIR}/test_copy_taper.c)
target_link_libraries(test_copy_taper PRIVATE pghost_lib m)
add_test(NAME unit.copy_taper COMMAND test_copy_taper)
set_tests_properties(unit.copy_taper PROPERTIES LABELS unit)
