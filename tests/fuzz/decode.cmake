# Fuzzing the decode module: fuzz_pgoutput (pgoutput decoder + replication framing) and
# fuzz_copyscan (COPY TO STDOUT row scanner).
#
# fuzz_<name>_corpus: the saved inputs under corpus/<name> run as a plain ctest entry
# (fuzz.<name>.corpus, label fuzz) with any compiler, and under ASan+UBSan when PGH_SANITIZE=ON.
# fuzz_<name>: the libFuzzer binary, built only with PGH_FUZZ=ON and clang:
#   build/tests/fuzz_pgoutput -max_total_time=300 <scratch-dir> tests/fuzz/corpus/pgoutput
set(pgh_fuzz_decode_dir ${CMAKE_CURRENT_LIST_DIR})

foreach(pgh_fd pgoutput copyscan)
  add_executable(fuzz_${pgh_fd}_corpus ${pgh_fuzz_decode_dir}/fuzz_${pgh_fd}.c
                                       ${pgh_fuzz_decode_dir}/corpus_driver.c)
  target_link_libraries(fuzz_${pgh_fd}_corpus PRIVATE pgh_decode pgh_util)
  add_test(NAME fuzz.${pgh_fd}.corpus
           COMMAND fuzz_${pgh_fd}_corpus ${pgh_fuzz_decode_dir}/corpus/${pgh_fd})
  set_tests_properties(fuzz.${pgh_fd}.corpus PROPERTIES LABELS fuzz)
endforeach()

if(PGH_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  # The code under test must carry the fuzzer's coverage instrumentation, so its sources are
  # compiled into each target instead of linking the uninstrumented object libraries.
  file(GLOB pgh_fuzz_decode_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/decode/*.c
       ${PROJECT_SOURCE_DIR}/src/util/*.c)
  foreach(pgh_fd pgoutput copyscan)
    add_executable(fuzz_${pgh_fd} ${pgh_fuzz_decode_dir}/fuzz_${pgh_fd}.c ${pgh_fuzz_decode_srcs})
    target_include_directories(fuzz_${pgh_fd} PRIVATE ${PROJECT_SOURCE_DIR}/include
                                                      ${PROJECT_SOURCE_DIR}/src)
    target_compile_options(fuzz_${pgh_fd} PRIVATE -fsanitize=fuzzer,address,undefined
                                                  -fno-sanitize-recover=undefined
                                                  -fno-omit-frame-pointer)
    target_link_options(fuzz_${pgh_fd} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${pgh_fd} PRIVATE Threads::Threads m)
  endforeach()
endif()
