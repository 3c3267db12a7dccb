// The umbrella header: everything an embedding program needs.
#pragma once

#include "slim/dtype.hpp"
#include "slim/error.hpp"
#include "slim/model.hpp"
#include "slim/tensor.hpp"
