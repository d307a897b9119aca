# The distributed mode's security keys (docs/nats.md, "Security"): a real nats-server that
# wants an NKey, or TLS with a CA the test makes; capture and apply through it, and the mistakes
# a DBA makes, one line each (tests/integration/it_nats_auth.c).
add_executable(it_nats_auth ${CMAKE_CURRENT_LIST_DIR}/it_nats_auth.c)
target_link_libraries(it_nats_auth PRIVATE pgh_run pgh_nats_harness pgh_nats_jwt)
target_compile_definitions(it_nats_auth PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_nats_auth pghost)
foreach(case nkey tls creds)
  add_test(NAME nats_auth_${case} COMMAND it_nats_auth ${case})
  set_tests_properties(nats_auth_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 120)
endforeach()
