# cmake -DBIN=boxjail-wait -DREADELF=readelf [-DSET_MODE=ON] -P check_relocs.cmake
# boxjail-wait never relocates itself, so it must carry no relocation, no
# interpreter and no needed library; and, with SET_MODE (the post-build
# step, not the test, which may run as another user), it is made mode 0755.
foreach(what -rW -lW -dW)
  execute_process(COMMAND ${READELF} ${what} ${BIN} OUTPUT_VARIABLE out${what}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "boxjail-wait: readelf ${what} ${BIN} failed")
  endif()
endforeach()
if(NOT out-rW MATCHES "There are no relocations in this file")
  message(FATAL_ERROR "boxjail-wait: ${BIN} has relocations, which it cannot apply "
                      "(no pointers in static data):\n${out-rW}")
endif()
if(out-lW MATCHES "INTERP" OR out-dW MATCHES "NEEDED|TEXTREL")
  message(FATAL_ERROR "boxjail-wait: ${BIN} is not a self-contained static PIE:\n${out-lW}${out-dW}")
endif()
if(NOT out-lW MATCHES "DYN \\(")
  message(FATAL_ERROR "boxjail-wait: ${BIN} is not position-independent:\n${out-lW}")
endif()
if(SET_MODE)
  file(CHMOD ${BIN} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
       WORLD_READ WORLD_EXECUTE)
endif()
