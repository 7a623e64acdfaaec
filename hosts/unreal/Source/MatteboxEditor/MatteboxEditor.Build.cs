// The editor module: Tools > Mattebox > Score Rendered Frames, which scores
// a Movie Render Queue output folder against the character sheet.
using UnrealBuildTool;

public class MatteboxEditor : ModuleRules
{
	public MatteboxEditor(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		CppStandard = CppStandardVersion.Cpp20;

		PrivateDependencyModuleNames.AddRange(new string[] {
			"Core", "CoreUObject", "Engine", "Slate", "SlateCore", "ToolMenus", "DesktopPlatform",
			"MatteboxRuntime", "MatteboxLibrary"
		});
	}
}
