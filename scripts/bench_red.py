"""Benchmark RED on this machine's CPU (or GPU), as ratios against baselines measured in the same run.

1. training step of the method's default config (methods.red: tiny, 7 map points, group norm): the suite's
   step (previous-frame feedback, label maps, three losses, clipping, AdamW) vs a bare forward + backward of
   the same model on the same batch, the backward reaching every sRNN pass's outputs as the losses do (the
   first version of this script backpropagated the last pass's coordinates only: a third of the backward,
   which made the suite's step look 1.7x the bare one; printed as "last pass only");
2. inference: frames/s of the frame-by-frame online loop (tracking state, feedback, 3 sRNN passes: what the
   tracking box protocol and a model fed its own output need), of the clip path the gt and detector boxes
   take (OnlineRED.run_clip: chunks of frames in one forward, the LSTM state carried), and of RED-static in
   batches, vs a bare batched forward of the same model; for the tiny and the paper configs;
3. training precision: the step in fp32 vs under CPU bf16 autocast (methods.red.train.precision) vs with
   channels_last memory, as speed-ups over fp32 in the same run;
4. the tracking protocol over many clips (tiny config): frame t of every clip in one batch (track_clips), its
   model steps alone and the whole path with crops and boxes, vs the clip-by-clip loop and a bare forward;
5. CPU kernels (params torch.cpu_kernels): the training step and a batched forward under portable vs fast.

    python scripts/bench_red.py [--repeats 3] [--skip-paper] [--threads 1] [--clips 18] [--clip-frames 32]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch


def _best(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_train_step(cfg, weights, batch_clips: int, clip_len: int, repeats: int) -> dict[str, float]:
    from redbench.red.model import RED
    from redbench.red.losses import red_loss
    from redbench.red.toy import ToyClips
    from redbench.red.train import previous_frame_points

    torch.manual_seed(0)
    model = RED(cfg)
    data = ToyClips(batch_clips, clip_len, cfg.input_size, n_identities=cfg.n_identities)
    batch = torch.utils.data.default_collate([data[i] for i in range(batch_clips)])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def suite_step() -> None:
        noise = torch.randn_like(batch["landmarks"]) * 0.02 * cfg.input_size
        prev = previous_frame_points(batch["landmarks"], batch["input_to_orig"], noise)
        out = model(batch["image"], prev)
        loss, _ = red_loss(out, batch["landmarks"], batch["identity"], cfg, weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    def bare_step() -> None:  # every output the losses read, summed: the same graph, no loss arithmetic
        model.zero_grad(set_to_none=True)
        out = model(batch["image"])
        (sum(c.sum() for c in out.coords) + sum(m.sum() for m in out.maps)
         + sum(i.sum() for i in out.id_logits)).backward()

    def last_pass_step() -> None:
        model.zero_grad(set_to_none=True)
        model(batch["image"]).landmarks.sum().backward()

    suite, bare, last = (_best(f, repeats) for f in (suite_step, bare_step, last_pass_step))
    frames = batch_clips * clip_len
    return {"suite_s": suite, "bare_s": bare, "ratio": suite / bare, "last_pass_s": last,
            "ratio_last_pass": suite / last, "suite_frames_per_s": frames / suite}


def bench_precision(cfg, weights, batch_clips: int, clip_len: int, repeats: int) -> dict[str, float]:
    """The suite's training step in fp32, under CPU bf16 autocast (methods.red.train.precision: bf16), and with
    channels_last memory, on the same model and batch: seconds per step (best of `repeats`) and ratios to fp32."""
    from redbench.red.infer import train_autocast
    from redbench.red.losses import red_loss
    from redbench.red.model import RED
    from redbench.red.toy import ToyClips

    torch.manual_seed(0)
    model = RED(cfg)
    data = ToyClips(batch_clips, clip_len, cfg.input_size, n_identities=cfg.n_identities)
    batch = torch.utils.data.default_collate([data[i] for i in range(batch_clips)])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(bf16: bool, images: torch.Tensor) -> None:
        with train_autocast(torch.device("cpu"), bf16):
            out = model(images)
            loss, _ = red_loss(out, batch["landmarks"], batch["identity"], cfg, weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    fp32 = _best(lambda: step(False, batch["image"]), repeats)
    bf16 = _best(lambda: step(True, batch["image"]), repeats)
    model.to(memory_format=torch.channels_last)
    last = _best(lambda: step(False, batch["image"]), repeats)
    return {"fp32_s": fp32, "bf16_s": bf16, "channels_last_s": last, "bf16_speedup": fp32 / bf16,
            "channels_last_speedup": fp32 / last}


def bench_kernels(cfg, weights, batch_clips: int, clip_len: int, repeats: int) -> dict[str, float]:
    """The suite's training step and a batched RED-static forward under params torch.cpu_kernels portable and
    fast, interleaved so that a machine's load hits both alike; seconds and portable / fast. Portable comes first:
    its MKL and ATen pins are read once per process, so the fast rounds run with them too (they are not what
    costs the time: oneDNN and NNPACK off is)."""
    import contextlib

    from redbench.methods.kernels import cpu_kernels

    out = {}
    for mode in ("portable", "fast", "portable", "fast"):
        with contextlib.nullcontext() if mode == "fast" else cpu_kernels("portable"):
            r = bench_train_step(cfg, weights, batch_clips, clip_len, repeats)
            i = bench_inference(cfg, n_frames=32, repeats=repeats)
        out[f"{mode}_step_s"] = min(out.get(f"{mode}_step_s", np.inf), r["suite_s"])
        out[f"{mode}_static_fps"] = max(out.get(f"{mode}_static_fps", 0.0), i["static_batch_fps"])
    out["step_ratio"] = out["portable_step_s"] / out["fast_step_s"]
    out["static_ratio"] = out["fast_static_fps"] / out["portable_static_fps"]
    return out


def bench_inference(cfg, n_frames: int, repeats: int) -> dict[str, float]:
    from redbench.red.infer import OnlineRED, predict_static_batch
    from redbench.red.model import RED

    torch.manual_seed(0)
    model = RED(cfg).eval()
    static = RED(cfg.__class__(**{**cfg.__dict__, "variant": "static"})).eval()
    images = torch.rand(n_frames, 3, cfg.input_size, cfg.input_size)
    eye = np.repeat(np.array([[[1.0, 0, 0], [0, 1.0, 0]]]), n_frames, axis=0)
    runner = OnlineRED(model, torch.device("cpu"))

    def online() -> None:
        runner.reset()
        for t in range(n_frames):
            runner.step(images[t], eye[t])

    def clip() -> None:
        runner.reset()
        runner.run_clip(images, eye)

    def bare() -> None:
        with torch.no_grad():
            model(images[:, None])

    t_online, t_clip = _best(online, repeats), _best(clip, repeats)
    t_static = _best(lambda: predict_static_batch(static, images, torch.device("cpu")), repeats)
    t_bare = _best(bare, repeats)
    return {"online_fps": n_frames / t_online, "clip_fps": n_frames / t_clip, "static_batch_fps": n_frames / t_static,
            "bare_batch_fps": n_frames / t_bare, "online_vs_bare": t_bare / t_online, "clip_vs_bare": t_bare / t_clip}


def bench_tracking(cfg, n_clips: int, n_frames: int, repeats: int, bare_batch: int) -> dict[str, float]:
    """The tracking protocol over n_clips clips: frames/s of frame t of every clip in one batch
    (BatchedOnlineRED, model steps only, as `online` above) and of the whole predict path (RedMethod: crops
    warped to each frame's tracking box, the forward, the next box), batched (track_clips) and clip by clip
    (predict_clip, the loop before), vs a bare batched forward of the same frames."""
    from redbench.red.infer import BatchedOnlineRED
    from redbench.red.method import RedMethod
    from redbench.red.model import RED

    torch.manual_seed(0)
    model = RED(cfg).eval()
    ring = np.stack([np.cos(np.arange(cfg.n_landmarks)), np.sin(np.arange(cfg.n_landmarks))], 1)
    # an untrained f_REG outputs the mean shape: a ring spanning 0.8 of the input (the box x 1.25) keeps the
    # tracking box at its size, as a trained model on a face would
    model.mean_shape.copy_(torch.as_tensor(0.5 + 0.4 * ring))
    device = torch.device("cpu")
    images = torch.rand(n_clips, n_frames, 3, cfg.input_size, cfg.input_size)
    eye = np.repeat(np.array([[[1.0, 0, 0], [0, 1.0, 0]]]), n_clips, axis=0)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (n_frames, 128, 128, 3), dtype=np.uint8) for _ in range(n_clips)]
    first = np.tile([32.0, 32.0, 96.0, 96.0], (n_clips, 1))
    method = RedMethod(model, 1.25, device)

    def batched_steps() -> None:
        runner = BatchedOnlineRED(model, device)
        for t in range(n_frames):
            runner.step(images[:, t], eye)

    def bare() -> None:  # in batches of `bare_batch` frames, as bench_inference's bare forward
        flat = images.flatten(0, 1)
        with torch.no_grad():
            for i in range(0, len(flat), bare_batch):
                model(flat[i:i + bare_batch, None])

    t_steps, t_bare = _best(batched_steps, repeats), _best(bare, repeats)
    with warnings.catch_warnings():  # random crops: the upsampling warning says nothing here
        warnings.simplefilter("ignore")
        t_track = _best(lambda: method.track_clips(crops, first), repeats)
        t_loop = _best(lambda: [method.predict_clip(c, np.tile(b, (n_frames, 1)), tracking=True)
                                for c, b in zip(crops, first)], repeats)
    frames = n_clips * n_frames
    return {"steps_fps": frames / t_steps, "bare_fps": frames / t_bare, "steps_vs_bare": t_bare / t_steps,
            "track_fps": frames / t_track, "loop_fps": frames / t_loop, "track_vs_loop": t_loop / t_track,
            "track_vs_bare": t_bare / t_track}


def main() -> None:
    from redbench.red.config import paper
    from redbench.red.method import Config
    from redbench.red.model import RED, count_parameters

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--frames", type=int, default=64, help="frames of the inference clip")
    ap.add_argument("--clips", type=int, default=18, help="clips tracked at once (the default test set has 18)")
    ap.add_argument("--clip-frames", type=int, default=32, help="frames per tracked clip")
    ap.add_argument("--skip-paper", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default; 1 on a busy machine)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    method = Config()  # the packaged methods.red defaults
    configs = {"tiny": method.model_config(n_identities=40)}
    if not args.skip_paper:
        configs["paper"] = paper(n_identities=40, map_points=method.map_points, norm=method.norm,
                                 label_square=method.label_square)
    for name, cfg in configs.items():
        model = RED(cfg)
        print(f"[{name}] {cfg.input_size} px, {count_parameters(model) / 1e6:.2f}M parameters "
              f"(encoder {count_parameters(model.encoder) / 1e6:.2f}M; the paper quotes 14.8M), "
              f"{cfg.n_map} map points, {cfg.norm} norm")
        if name == "tiny":
            r = bench_train_step(cfg, method.train.loss, batch_clips=4, clip_len=4, repeats=args.repeats)
            print(f"[{name}] train step (4 clips x 4 frames): suite {r['suite_s']:.3f} s, bare fwd+bwd of every "
                  f"pass {r['bare_s']:.3f} s, ratio {r['ratio']:.2f} (last pass only: {r['last_pass_s']:.3f} s, "
                  f"ratio {r['ratio_last_pass']:.2f}); {r['suite_frames_per_s']:.1f} frames/s")
            bf16_ok = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
            p = bench_precision(cfg, method.train.loss, batch_clips=4, clip_len=4, repeats=args.repeats)
            print(f"[{name}] train step precision (CPU bf16 instructions: {'yes' if bf16_ok else 'no'}): fp32 "
                  f"{p['fp32_s']:.3f} s, bf16 autocast {p['bf16_s']:.3f} s ({p['bf16_speedup']:.2f}x faster), "
                  f"channels_last {p['channels_last_s']:.3f} s ({p['channels_last_speedup']:.2f}x)")
            k = bench_kernels(cfg, method.train.loss, batch_clips=4, clip_len=4, repeats=args.repeats)
            print(f"[{name}] kernels (params torch.cpu_kernels): train step fast {k['fast_step_s']:.3f} s, "
                  f"portable {k['portable_step_s']:.3f} s ({k['step_ratio']:.2f}x the time); RED-static batched "
                  f"forward {k['fast_static_fps']:.0f} vs {k['portable_static_fps']:.0f} frames/s "
                  f"({k['static_ratio']:.2f}x)")
        r = bench_inference(cfg, n_frames=args.frames if name == "tiny" else 8, repeats=args.repeats)
        print(f"[{name}] inference: frame by frame {r['online_fps']:.1f} frames/s ({r['online_vs_bare']:.2f}x of bare), "
              f"clip path {r['clip_fps']:.1f} frames/s ({r['clip_vs_bare']:.2f}x), RED-static batched "
              f"{r['static_batch_fps']:.1f} frames/s, bare batched forward {r['bare_batch_fps']:.1f} frames/s")
        if name == "tiny":
            r = bench_tracking(cfg, args.clips, args.clip_frames, args.repeats, bare_batch=args.frames)
            print(f"[{name}] tracking, {args.clips} clips x {args.clip_frames} frames, frame t of every clip in one "
                  f"batch: model steps {r['steps_fps']:.1f} frames/s ({r['steps_vs_bare']:.2f}x of a bare batched "
                  f"forward of the same frames in batches of {args.frames}, {r['bare_fps']:.1f} frames/s); with the "
                  f"crops and boxes: "
                  f"track_clips {r['track_fps']:.1f} frames/s ({r['track_vs_bare']:.2f}x of bare), "
                  f"clip by clip (predict_clip) {r['loop_fps']:.1f} frames/s: {r['track_vs_loop']:.2f}x faster")


if __name__ == "__main__":
    main()
