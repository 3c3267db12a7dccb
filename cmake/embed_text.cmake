# cmake -DINPUT=file -DOUTPUT=file.cpp -DNAME=symbol -P embed_text.cmake
# Writes a C++ source defining `extern const char NAME[]` with INPUT's bytes, so a program carries
# a text file (slim-server's page) without reading it at run time. The text goes in raw string
# literals of at most 16 KB each (concatenated by the compiler).
file(READ "${INPUT}" text)
string(FIND "${text}" ")slim_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter )slim_embed\"")
endif()
string(LENGTH "${text}" length)
set(out "// Generated from ${INPUT} by cmake/embed_text.cmake; do not edit.\nextern const char ${NAME}[];\nconst char ${NAME}[] =\n")
set(at 0)
while(at LESS length)
  string(SUBSTRING "${text}" ${at} 16000 piece)
  string(APPEND out "R\"slim_embed(${piece})slim_embed\"\n")
  math(EXPR at "${at} + 16000")
endwhile()
string(APPEND out ";\n")
file(WRITE "${OUTPUT}.tmp" "${out}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
