# embed_text.cmake: cmake -DIN=file -DOUT=header -DNAME=symbol -P embed_text.cmake writes a header holding
# the file's text as `inline constexpr const char NAME[]` (a raw string). apps/CMakeLists.txt embeds
# apps/report.js this way, so that every report page carries its own script.
file(READ ${IN} content)
file(WRITE ${OUT} "// Generated from ${IN} by apps/embed_text.cmake; edit that file instead.\n#pragma once\n"
                  "inline constexpr const char ${NAME}[] = R\"mdp_embed(${content})mdp_embed\";\n")
