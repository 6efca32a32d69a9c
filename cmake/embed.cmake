# cmake -DIN=FILE -DNAME=kName -DOUT=HEADER -P embed.cmake
# Writes HEADER, which defines boxjail::profile::generated::NAME as the
# bytes of FILE (a built-in profile), NUL-terminated: the binary carries the
# file itself, so the built-in profile and the installed one cannot differ.
# Every byte is a \xNN escape, so that nothing in the file can end the
# string early. HEADER is rewritten only when its text changes.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
set(body "")
set(i 0)
while(i LESS n)
  string(SUBSTRING "${hex}" ${i} 64 chunk)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" chunk "${chunk}")
  string(APPEND body "    \"${chunk}\"\n")
  math(EXPR i "${i} + 64")
endwhile()
get_filename_component(name "${IN}" NAME)
set(text "// Generated from profiles/${name} by cmake/embed.cmake: do not edit.\n#pragma once\n\nnamespace boxjail::profile::generated {\ninline constexpr char ${NAME}[] =\n${body}    \"\";\n}  // namespace boxjail::profile::generated\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${text}")
