# NATS NKeys (src/dest/nats/nkey.h): a user seed to its public key, against a pair published
# by nats-io and round trips; the malformed seeds each get their reason (tests/unit/test_nkey.c).
add_executable(test_nkey ${CMAKE_CURRENT_LIST_DIR}/test_nkey.c)
target_link_libraries(test_nkey PRIVATE pghost_lib)
add_test(NAME unit.nkey COMMAND test_nkey)
set_tests_properties(unit.nkey PROPERTIES LABELS unit)
