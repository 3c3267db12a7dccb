// The umbrella header: everything an embedding program needs.
#pragma once

#include "slim/chat_template.hpp"
#include "slim/dtype.hpp"
#include "slim/engine.hpp"
#include "slim/error.hpp"
#include "slim/generate.hpp"
#include "slim/grammar.hpp"
#include "slim/limits.hpp"
#include "slim/model.hpp"
#include "slim/sampler.hpp"
#include "slim/tensor.hpp"
#include "slim/tokenizer.hpp"
