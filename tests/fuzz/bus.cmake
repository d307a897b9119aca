# Fuzzing the NATS bus decoder (fuzz_bus.c): the saved inputs under corpus/bus run as a plain
# ctest entry (fuzz.bus.corpus, label fuzz); with PGH_FUZZ=ON and clang, the libFuzzer binary:
#   build/tests/fuzz_bus -max_total_time=300 <scratch-dir> tests/fuzz/corpus/bus
set(pgh_fuzz_bus_dir ${CMAKE_CURRENT_LIST_DIR})
add_executable(fuzz_bus_corpus ${pgh_fuzz_bus_dir}/fuzz_bus.c ${pgh_fuzz_bus_dir}/corpus_driver.c
                               ${PROJECT_SOURCE_DIR}/src/dest/destination.c)
target_link_libraries(fuzz_bus_corpus PRIVATE pgh_dest_nats pgh_config pgh_util PkgConfig::JANSSON
                      PkgConfig::NATS)
add_test(NAME fuzz.bus.corpus COMMAND fuzz_bus_corpus ${pgh_fuzz_bus_dir}/corpus/bus)
set_tests_properties(fuzz.bus.corpus PROPERTIES LABELS fuzz)

if(PGH_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  file(GLOB pgh_fuzz_bus_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/dest/nats/bus_*.c
       ${PROJECT_SOURCE_DIR}/src/util/*.c)
  add_executable(fuzz_bus ${pgh_fuzz_bus_dir}/fuzz_bus.c ${pgh_fuzz_bus_srcs})
  target_include_directories(fuzz_bus PRIVATE ${PROJECT_SOURCE_DIR}/include
                                              ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(fuzz_bus PRIVATE -fsanitize=fuzzer,address,undefined
                                          -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(fuzz_bus PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_bus PRIVATE PkgConfig::JANSSON Threads::Threads m)
endif()
