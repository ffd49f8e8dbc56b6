// Runs the bundled model on its sample inputs with the ckpt2cpp API: loads the model, feeds
// every sample of every input (SAMPLES/<input name>.npy, shaped [N, ...]), writes each output
// stacked over the samples (OUT/<output name>.npy), and prints the load time, the first
// inference and the median (p50) of timed runs, all measured with std::chrono::steady_clock.
//
//   example MODEL_DIR SAMPLES_DIR OUT_DIR [RUNS=50]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "ckpt2cpp/model.h"

using Clock = std::chrono::steady_clock;

static double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The process's peak resident memory (VmHWM), in MB.
static double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: %s MODEL_DIR SAMPLES_DIR OUT_DIR [RUNS=50]\n", argv[0]);
    return 2;
  }
  const std::string samples_dir = argv[2], out_dir = argv[3];
  const int runs = argc == 5 ? std::max(1, std::atoi(argv[4])) : 50;
  try {
    const auto t_load = Clock::now();
    auto model = ckpt2cpp::Model::load(argv[1]);
    const double load_ms = ms_since(t_load);

    std::vector<ckpt2cpp::Array> samples;  // per model input, [N, ...]
    for (const auto& input : model->inputs()) samples.push_back(ckpt2cpp::load_npy(samples_dir + "/" + input.name + ".npy"));
    const std::size_t n = samples.at(0).samples();
    std::vector<std::vector<std::int64_t>> shapes;  // one sample of each input: [1, ...]
    for (const auto& s : samples) shapes.push_back(s.batch1_shape());
    auto feed = [&](std::size_t i) {
      for (std::size_t k = 0; k < samples.size(); ++k)
        model->set_input(k, samples[k].dtype, shapes[k], samples[k].sample(i), samples[k].sample_bytes());
      model->run();
    };

    std::vector<ckpt2cpp::Array> stacked(model->outputs().size());  // per output, [N, ...]
    double first_ms = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto t0 = Clock::now();
      feed(i);
      if (i == 0) first_ms = ms_since(t0);
      for (std::size_t k = 0; k < stacked.size(); ++k) {
        const ckpt2cpp::Array& out = model->output(k);
        if (i == 0) stacked[k] = {out.dtype, out.shape, {}}, stacked[k].shape[0] = static_cast<std::int64_t>(n);
        stacked[k].data.insert(stacked[k].data.end(), out.data.begin(), out.data.end());
      }
    }
    for (std::size_t k = 0; k < stacked.size(); ++k)
      ckpt2cpp::save_npy(out_dir + "/" + model->outputs()[k].name + ".npy", stacked[k]);

    for (int k = 0; k < 5; ++k) feed(k % n);  // warm-up
    std::vector<double> times;
    for (int k = 0; k < runs; ++k) {
      const auto t0 = Clock::now();
      feed(k % n);
      times.push_back(ms_since(t0));
    }
    std::sort(times.begin(), times.end());
    const double p50 = runs % 2 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    std::printf("%zu samples -> %s; load %.3f ms, first %.3f ms, p50 %.3f ms over %d runs, peak RSS %.1f MB\n", n,
                out_dir.c_str(), load_ms, first_ms, p50, runs, peak_rss_mb());
    return 0;
  } catch (const ckpt2cpp::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
