# Removing a slot's state from the destination (src/state/position.c): one transaction when
# the tables are free, table by table when another session holds one; two slots sharing them.
add_executable(it_state_drop ${CMAKE_CURRENT_LIST_DIR}/it_state_drop.c)
target_link_libraries(it_state_drop PRIVATE pgh_test_harness pghost_lib)
target_include_directories(it_state_drop PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
add_test(NAME state_drop COMMAND it_state_drop)
set_tests_properties(state_drop PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 60)
