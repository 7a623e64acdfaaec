# Generates a built-in take through the Mattebox extension, shows a frame
# as a texture, composites a green-screen plate over it, scores the take,
# and checks the pixels. Prints "ok: ..." or "FAIL: ..." per check and
# quits with 0 when all pass, 1 otherwise.
extends Node

var failures := 0
var finished := false


func check(ok: bool, what: String) -> void:
	if ok:
		print("ok: ", what)
	else:
		printerr("FAIL: ", what)
		failures += 1


func finish() -> void:
	if finished:
		return
	finished = true
	print("done: %d failure(s)" % failures)
	get_tree().quit(0 if failures == 0 else 1)


func near(a: Color, b: Color, limit: float) -> bool:
	return absf(a.r - b.r) <= limit and absf(a.g - b.g) <= limit and absf(a.b - b.b) <= limit


# A shot of `width` x `height` lasting `duration` seconds, in the tree.
func new_shot(width: int, height: int, duration: float) -> MatteboxShot:
	var shot := MatteboxShot.new()
	shot.width = width
	shot.height = height
	shot.duration = duration
	add_child(shot)
	return shot


func _ready() -> void:
	get_tree().create_timer(120.0).timeout.connect(func():
		check(false, "everything within 120 s")
		finish())
	# A request Mattebox refuses: false, and the reason as a signal.
	var bad := new_shot(0, 36, 0.25)
	var reasons := []
	bad.failed.connect(func(take, message): reasons.append([take, message]))
	check(not bad.generate(), "a zero-width shot is refused")
	check(reasons.size() == 1 and reasons[0][0] == -1 and "width" in reasons[0][1], "the refusal says why: %s" % [reasons])

	var shot := new_shot(64, 36, 0.25)
	shot.prompt = "dusk over the harbour"
	shot.seed = 3
	shot.fps = 24.0
	shot.pan = 0.4
	var progress := []
	shot.progress.connect(func(take, fraction): progress.append(fraction))
	shot.failed.connect(func(take, message): check(false, "take %d: %s" % [take, message]))
	check(shot.generate(), "generate starts")
	await shot.take_ready
	check(progress.size() > 0, "progress was signalled (%d times)" % progress.size())
	check(shot.take_frame_count(0) == 6, "the take has 6 frames (%d)" % shot.take_frame_count(0))
	check(shot.take_path(0) != "", "the take is in the take cache: %s" % shot.take_path(0))
	var frame: Image = shot.take_frame(0, 3)
	check(frame != null and frame.get_width() == 64 and frame.get_height() == 36, "frame 3 is a 64x36 image")
	var texture: ImageTexture = shot.take_texture(0, 3)
	check(texture != null and texture.get_width() == 64, "frame 3 as a texture")
	var rect := TextureRect.new()
	rect.texture = texture
	add_child(rect)
	# Frames change as the camera pans.
	var first: Image = shot.take_frame(0, 0)
	var moved := false
	for x in range(64):
		if not near(first.get_pixel(x, 18), frame.get_pixel(x, 18), 0.02):
			moved = true
	check(moved, "the camera moves between frames 0 and 3")

	# A green-screen plate with a grey box, over the generated frame.
	var plate := Image.create(64, 36, false, Image.FORMAT_RGBA8)
	plate.fill(Color8(28, 179, 74))
	plate.fill_rect(Rect2i(20, 10, 16, 12), Color8(128, 128, 128))
	var compositor := MatteboxCompositor.new()
	var composite: Image = compositor.composite(plate, frame)
	check(composite != null and composite.get_width() == 64, "composite")
	if composite != null:
		var grey := Color8(128, 128, 128)
		check(near(composite.get_pixel(28, 16), grey, 0.03), "the box stays in front: %s" % composite.get_pixel(28, 16))
		var worst := 0.0
		for p in [Vector2i(3, 3), Vector2i(60, 3), Vector2i(3, 32), Vector2i(60, 32), Vector2i(8, 18)]:
			var a: Color = composite.get_pixelv(p)
			var b: Color = frame.get_pixelv(p)
			worst = maxf(worst, maxf(absf(a.r - b.r), maxf(absf(a.g - b.g), absf(a.b - b.b))))
		check(worst <= 0.03, "the screen shows the generated frame (worst difference %.3f)" % worst)
		var matte: Image = compositor.matte(plate, frame)
		check(matte.get_pixel(28, 16).r > 0.95 and matte.get_pixel(3, 3).r < 0.05, "the matte")
	compositor.key = "purple"
	check(compositor.composite(plate, frame) == null, "an unknown key is refused")

	# The take's consistency: a steady generated pan.
	var frames: Array[Image] = []
	for i in range(shot.take_frame_count(0)):
		frames.append(shot.take_frame(0, i))
	var scores: Dictionary = MatteboxScorer.new().score(frames)
	check(scores.has("flicker") and scores["flicker"] > 0.75, "scores: %s" % [scores])
	check(MatteboxScorer.new().score([frame]).is_empty(), "one frame is not a shot")

	# A shot from a still of the game: its first frame is that still.
	var from_still := new_shot(64, 36, 0.25)
	from_still.push_in = 0.5
	from_still.first_frame = plate
	check(from_still.generate(), "a shot from a still starts")
	await from_still.take_ready
	var opening: Image = from_still.take_frame(0, 0)
	check(near(opening.get_pixel(28, 16), Color8(128, 128, 128), 0.03) and near(opening.get_pixel(3, 3), Color8(28, 179, 74), 0.03),
		"the shot opens on the still: %s %s" % [opening.get_pixel(28, 16), opening.get_pixel(3, 3)])

	# Cancelling: a longer job stops, each take says so, then it finishes.
	var long := new_shot(640, 360, 20.0)
	long.takes = 2
	long.seed = 11
	var cancelled := []
	long.failed.connect(func(take, message): cancelled.append(message))
	check(long.generate(), "a second job starts")
	long.cancel()
	await long.finished
	check(cancelled.size() == 2 and "cancelled" in str(cancelled), "both takes report the cancel: %s" % [cancelled])
	check(not long.is_generating(), "nothing runs after the cancel")
	finish()
