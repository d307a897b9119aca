# The distributed mode on NATS JetStream (docs/nats.md): real nats-server processes
# (tests/harness/pgh_nats.h), pghost capture and two appliers under writers and SIGKILLs.
add_executable(it_nats ${CMAKE_CURRENT_LIST_DIR}/it_nats.c)
target_link_libraries(it_nats PRIVATE pgh_run pgh_nats_harness PkgConfig::JANSSON)
target_compile_definitions(it_nats PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_nats pghost)
foreach(case single stopped errors)
  add_test(NAME nats_${case} COMMAND it_nats ${case})
  set_tests_properties(nats_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 180)
endforeach()
foreach(case kill9 cluster)
  add_test(NAME nats_${case} COMMAND it_nats ${case})
  set_tests_properties(nats_${case} PROPERTIES LABELS "integration;slow" SKIP_RETURN_CODE 77
                       TIMEOUT 300)
endforeach()
