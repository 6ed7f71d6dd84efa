// cpp_link.cpp — using librbm from C++17 through pkg-config.
//
//   g++ -std=c++17 cpp_link.cpp $(pkg-config --cflags --libs rbm)
//
// The C API hands out opaque pointers that must be released with the
// matching rbm_*_free(); std::unique_ptr with a deleter does that
// automatically, in reverse order of construction, even when an exception
// is thrown. Errors become exceptions carrying the status and the context's
// detail message. Trains a small machine for a few epochs with the built-in
// trainer (Adam, PCD-1) and exits 0 when the reconstruction error went down.

#include <rbm/rbm.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rbmxx {

// unique_ptr deleter calling a librbm destructor (all of them accept NULL).
template <typename T, void (*Free)(T *)>
struct deleter {
    void operator()(T *p) const noexcept { Free(p); }
};
template <typename T, void (*Free)(T *)>
using handle = std::unique_ptr<T, deleter<T, Free>>;

using context = handle<rbm_context, rbm_context_free>;
using dataset = handle<rbm_dataset, rbm_dataset_free>;
using machine = handle<rbm_machine, rbm_machine_free>;
using trainer = handle<rbm_trainer, rbm_trainer_free>;

struct error : std::runtime_error {
    rbm_status status;
    error(rbm_status st, const std::string &what)
        : std::runtime_error(what), status(st) {}
};

// Throw unless st is one of the accepted statuses (RBM_OK by default).
inline rbm_status check(rbm_status st, const rbm_context *ctx, const char *call,
                        rbm_status also_ok = RBM_OK)
{
    if (st != RBM_OK && st != also_ok)
        throw error(st, std::string(call) + ": " + rbm_status_name(st) + ": " +
                            rbm_context_last_error(ctx));
    return st;
}

// Constructors follow one shape: rbm_x_new(args..., rbm_x **out).
inline context make_context()
{
    rbm_context *p = nullptr;
    rbm_status st = rbm_context_new(&p);
    if (st != RBM_OK)
        throw error(st, std::string("rbm_context_new: ") + rbm_status_message(st));
    return context(p);
}

} // namespace rbmxx

int main()
{
    using namespace rbmxx;
    try {
        // Header and library must agree (catches a stale installed library).
        if (rbm_version_number() != RBM_VERSION_NUMBER) {
            std::fprintf(stderr, "header %s but library %s\n", RBM_VERSION_STRING,
                         rbm_version_string());
            return 1;
        }
        std::printf("librbm %s from C++\n", rbm_version_string());

        context ctx = make_context();

        rbm_dataset *d = nullptr;
        check(rbm_dataset_synthetic(ctx.get(), 500, 0, 0, 100, 0.5, RBM_UNIT_BERNOULLI, 11, &d),
              ctx.get(), "rbm_dataset_synthetic");
        dataset data(d);

        const std::size_t nv = rbm_dataset_cols(data.get()), nh = 16;
        rbm_machine *mp = nullptr;
        check(rbm_machine_new(ctx.get(), nv, nh, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &mp),
              ctx.get(), "rbm_machine_new");
        machine m(mp);
        check(rbm_machine_init_normal(m.get(), 0.01, 5), ctx.get(), "rbm_machine_init_normal");
        check(rbm_machine_init_visible_bias_from_data(m.get(), data.get()), ctx.get(),
              "rbm_machine_init_visible_bias_from_data");

        rbm_trainer *tp = nullptr;
        check(rbm_trainer_new(m.get(), data.get(), 25, 42, &tp), ctx.get(), "rbm_trainer_new");
        trainer t(tp);
        check(rbm_trainer_set_estimator(t.get(), RBM_ESTIMATOR_PCD, 1), ctx.get(),
              "rbm_trainer_set_estimator");
        check(rbm_trainer_set_optimizer(t.get(), RBM_OPTIMIZER_ADAM), ctx.get(),
              "rbm_trainer_set_optimizer");
        check(rbm_trainer_set_real(t.get(), RBM_TRAINER_LEARNING_RATE, 0.01), ctx.get(),
              "rbm_trainer_set_real");

        // The observer is a plain C callback: a captureless lambda converts to
        // one; state travels through the void *user pointer.
        std::size_t observed = 0;
        check(rbm_trainer_set_observer(
                  t.get(),
                  [](void *user, const rbm_trainer *) -> int {
                      ++*static_cast<std::size_t *>(user);
                      return 0;
                  },
                  &observed),
              ctx.get(), "rbm_trainer_set_observer");

        double first = NAN, last = NAN;
        const int epochs = 4;
        for (int e = 1; e <= epochs; ++e) {
            rbm_status st;
            do {
                st = check(rbm_trainer_step(t.get()), ctx.get(), "rbm_trainer_step", RBM_DONE);
                if (std::isnan(first))
                    first = rbm_trainer_reconstruction_error(t.get());
            } while (st == RBM_OK);
            last = rbm_trainer_reconstruction_error(t.get());
            std::printf("epoch %d  steps %llu  reconstruction error %.5f\n", e,
                        static_cast<unsigned long long>(rbm_trainer_step_count(t.get())), last);
        }

        // Parameters come back as row-major doubles in caller-owned storage.
        std::vector<double> w(nv * nh);
        check(rbm_machine_get_weights(m.get(), w.data(), w.size()), ctx.get(),
              "rbm_machine_get_weights");
        for (double x : w)
            if (!std::isfinite(x))
                throw std::runtime_error("non-finite weight after training");

        // A wrong length is refused with RBM_ERR_SHAPE and a detail message.
        try {
            check(rbm_machine_set_weights(m.get(), w.data(), w.size() - 1), ctx.get(),
                  "rbm_machine_set_weights");
            std::fprintf(stderr, "FAIL: wrong length accepted\n");
            return 1;
        } catch (const error &e) {
            if (e.status != RBM_ERR_SHAPE) {
                std::fprintf(stderr, "FAIL: expected RBM_ERR_SHAPE, got %s\n", e.what());
                return 1;
            }
            std::printf("expected error: %s\n", e.what());
        }

        const std::uint64_t steps = rbm_trainer_step_count(t.get());
        if (observed != steps) {
            std::fprintf(stderr, "FAIL: observer saw %zu of %llu steps\n", observed,
                         static_cast<unsigned long long>(steps));
            return 1;
        }
        if (!(last < first)) {
            std::fprintf(stderr, "FAIL: reconstruction error %.5f -> %.5f\n", first, last);
            return 1;
        }
        std::printf("OK: reconstruction error %.5f -> %.5f in %llu steps\n", first, last,
                    static_cast<unsigned long long>(steps));
        return 0;
    } catch (const std::exception &e) {
        // The handles have already been released by their unique_ptrs here.
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
