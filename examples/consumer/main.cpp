// The smallest program that uses slim: a model folder in, a few generated tokens out.
#include <cstdio>
#include <slim/slim.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer MODEL_DIR\n");
    return 2;
  }
  try {
    auto model = slim::Model::load(argv[1]);
    slim::Session session(model);
    slim::generate(session, "Once upon a time", {.max_tokens = 16}, [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      return true;
    });
    std::puts("");
    return 0;
  } catch (const slim::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
