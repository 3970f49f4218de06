import HeliosEmulator

await EmulatorMain.run()
