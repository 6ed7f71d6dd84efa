/* librbm — umbrella header: includes every public module header.
 * See docs/ and each header for the API contract. */
#ifndef RBM_RBM_H
#define RBM_RBM_H

#include "common.h"
#include "status.h"
#include "version.h"
#include "context.h"
#include "rng.h"
#include "units.h"
#include "machine.h"
#include "dataset.h"
#include "alignment.h"
#include "sampler.h"
#include "tempering.h"
#include "diagnostics.h"
#include "gradient.h"
#include "estimator.h"
#include "trainer.h"
#include "metrics.h"
#include "svd.h"
#include "linear.h"
#include "meanfield.h"
#include "phase.h"
#include "interop.h"
#include "archive.h"

#endif /* RBM_RBM_H */
