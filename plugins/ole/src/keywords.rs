//! The keyword tables of oletools' olevba 0.60.2 (`AUTOEXEC_KEYWORDS`, `AUTOEXEC_KEYWORDS_REGEX`,
//! `SUSPICIOUS_KEYWORDS`, `SUSPICIOUS_KEYWORDS_REGEX`; BSD-2-Clause, (c) Philippe Lagadec), in
//! their order, so that the keyword table of [`crate::scan`] lists what olevba lists, in the
//! same order, with the same descriptions. Plain keywords are matched as whole words, case
//! insensitively; the `_REGEX` tables hold regular expressions. olevba's two look-behind
//! patterns (`(?<!Could contain following functions: )EXEC` and `...REGISTER`) are written
//! `!EXEC` and `!REGISTER` here: [`crate::scan`] checks the text before each match itself
//! (the `regex` crate has no look-behind).

pub(crate) const AUTOEXEC_KEYWORDS: &[(&str, &[&str])] = &[
    (
        "Runs when the Word document is opened",
        &["AutoExec", "AutoOpen", "DocumentOpen"],
    ),
    (
        "Runs when the Word document is closed",
        &[
            "AutoExit",
            "AutoClose",
            "Document_Close",
            "DocumentBeforeClose",
        ],
    ),
    (
        "Runs when the Word document is modified",
        &["DocumentChange"],
    ),
    (
        "Runs when a new Word document is created",
        &["AutoNew", "Document_New", "NewDocument"],
    ),
    (
        "Runs when the Word or Publisher document is opened",
        &["Document_Open"],
    ),
    (
        "Runs when the Publisher document is closed",
        &["Document_BeforeClose"],
    ),
    (
        "Runs when the Excel Workbook is opened",
        &[
            "Auto_Open",
            "Workbook_Open",
            "Workbook_Activate",
            "Auto_Ope",
        ],
    ),
    (
        "Runs when the Excel Workbook is closed",
        &["Auto_Close", "Workbook_Close", "Workbook_BeforeClose"],
    ),
    (
        "May run when an Excel WorkSheet is opened",
        &["Worksheet_Calculate"],
    ),
];

pub(crate) const AUTOEXEC_KEYWORDS_REGEX: &[(&str, &[&str])] = &[
    (
        "Runs when the file is opened (using InkPicture ActiveX object)",
        &["\\w+_Painted", "\\w+_Painting"],
    ),
    (
        "Runs when the file is opened and ActiveX objects trigger events",
        &[
            "\\w+_GotFocus",
            "\\w+_LostFocus",
            "\\w+_MouseHover",
            "\\w+_Click",
            "\\w+_Change",
            "\\w+_Resize",
            "\\w+_BeforeNavigate2",
            "\\w+_BeforeScriptExecute",
            "\\w+_DocumentComplete",
            "\\w+_DownloadBegin",
            "\\w+_DownloadComplete",
            "\\w+_FileDownload",
            "\\w+_NavigateComplete2",
            "\\w+_NavigateError",
            "\\w+_ProgressChange",
            "\\w+_PropertyChange",
            "\\w+_SetSecureLockIcon",
            "\\w+_StatusTextChange",
            "\\w+_TitleChange",
            "\\w+_MouseMove",
            "\\w+_MouseEnter",
            "\\w+_MouseLeave",
            "\\w+_Layout",
            "\\w+_OnConnecting",
            "\\w+_FollowHyperlink",
            "\\w+_ContentControlOnEnter",
        ],
    ),
];

pub(crate) const SUSPICIOUS_KEYWORDS: &[(&str, &[&str])] = &[
    (
        "May read system environment variables",
        &[
            "Environ",
            "Win32_Environment",
            "Environment",
            "ExpandEnvironmentStrings",
            "HKCU\\Environment",
            "HKEY_CURRENT_USER\\Environment",
        ],
    ),
    ("May open a file", &["Open"]),
    (
        "May write to a file (if combined with Open)",
        &["Write", "Put", "Output", "Print #"],
    ),
    (
        "May read or write a binary file (if combined with Open)",
        &["Binary"],
    ),
    (
        "May copy a file",
        &["FileCopy", "CopyFile", "CopyHere", "CopyFolder"],
    ),
    ("May move a file", &["MoveHere", "MoveFile", "MoveFolder"]),
    ("May delete a file", &["Kill"]),
    (
        "May create a text file",
        &["CreateTextFile", "ADODB.Stream", "WriteText", "SaveToFile"],
    ),
    (
        "May run an executable file or a system command",
        &[
            "Shell",
            "vbNormal",
            "vbNormalFocus",
            "vbHide",
            "vbMinimizedFocus",
            "vbMaximizedFocus",
            "vbNormalNoFocus",
            "vbMinimizedNoFocus",
            "WScript.Shell",
            "Run",
            "ShellExecute",
            "ShellExecuteA",
            "shell32",
            "InvokeVerb",
            "InvokeVerbEx",
            "DoIt",
        ],
    ),
    ("May run a dll", &["ControlPanelItem"]),
    (
        "May execute file or a system command through WMI",
        &["Create"],
    ),
    (
        "May run an executable file or a system command on a Mac",
        &["MacScript", "AppleScript"],
    ),
    (
        "May run PowerShell commands",
        &[
            "PowerShell",
            "noexit",
            "ExecutionPolicy",
            "noprofile",
            "command",
            "EncodedCommand",
            "invoke-command",
            "scriptblock",
            "Invoke-Expression",
            "AuthorizationManager",
        ],
    ),
    (
        "May run an executable file or a system command using PowerShell",
        &["Start-Process"],
    ),
    ("May call a DLL using Excel 4 Macros (XLM/XLF)", &["CALL"]),
    (
        "May hide the application",
        &["Application.Visible", "ShowWindow", "SW_HIDE"],
    ),
    ("May create a directory", &["MkDir"]),
    ("May save the current workbook", &["ActiveWorkbook.SaveAs"]),
    (
        "May change which directory contains files to open at startup",
        &["Application.AltStartupPath"],
    ),
    ("May create an OLE object", &["CreateObject"]),
    (
        "May get an OLE object with a running instance",
        &["GetObject"],
    ),
    ("May create an OLE object using PowerShell", &["New-Object"]),
    (
        "May run an application (if combined with CreateObject)",
        &["Shell.Application"],
    ),
    (
        "May run an Excel 4 Macro (aka XLM/XLF) from VBA",
        &["ExecuteExcel4Macro"],
    ),
    (
        "May enumerate application windows (if combined with Shell.Application object)",
        &["Windows", "FindWindow"],
    ),
    ("May run code from a DLL", &["Lib"]),
    (
        "May run code from a library on a Mac",
        &["libc.dylib", "dylib"],
    ),
    (
        "May inject code into another process",
        &[
            "CreateThread",
            "CreateUserThread",
            "VirtualAlloc",
            "VirtualAllocEx",
            "RtlMoveMemory",
            "WriteProcessMemory",
            "SetContextThread",
            "QueueApcThread",
            "WriteVirtualMemory",
            "VirtualProtect",
        ],
    ),
    ("May run a shellcode in memory", &["SetTimer"]),
    (
        "May download files from the Internet",
        &[
            "URLDownloadToFileA",
            "Msxml2.XMLHTTP",
            "Microsoft.XMLHTTP",
            "MSXML2.ServerXMLHTTP",
            "User-Agent",
        ],
    ),
    (
        "May download files from the Internet using PowerShell",
        &["Net.WebClient", "DownloadFile", "DownloadString"],
    ),
    (
        "May control another application by simulating user keystrokes",
        &["SendKeys", "AppActivate"],
    ),
    (
        "May attempt to obfuscate malicious function calls",
        &["CallByName"],
    ),
    (
        "May attempt to obfuscate specific strings (use option --deobf to deobfuscate)",
        &["Chr", "ChrB", "ChrW", "StrReverse", "Xor"],
    ),
    (
        "May read or write registry keys",
        &["RegOpenKeyExA", "RegOpenKeyEx", "RegCloseKey"],
    ),
    (
        "May read registry keys",
        &["RegQueryValueExA", "RegQueryValueEx", "RegRead"],
    ),
    (
        "May detect virtualization",
        &[
            "SYSTEM\\ControlSet001\\Services\\Disk\\Enum",
            "VIRTUAL",
            "VMWARE",
            "VBOX",
        ],
    ),
    (
        "May detect Anubis Sandbox",
        &[
            "GetVolumeInformationA",
            "GetVolumeInformation",
            "1824245000",
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProductId",
            "76487-337-8429955-22614",
            "andy",
            "C:\\exec\\exec.exe",
            "popupkiller",
        ],
    ),
    (
        "May detect Sandboxie",
        &["SbieDll.dll", "SandboxieControlWndClass"],
    ),
    ("May detect Sunbelt Sandbox", &["C:\\file.exe"]),
    ("May detect Norman Sandbox", &["currentuser"]),
    ("May detect CW Sandbox", &["Schmidti"]),
    ("May detect WinJail Sandbox", &["Afx:400000:0"]),
    (
        "May attempt to disable VBA macro security and Protected View",
        &[
            "AccessVBOM",
            "VBAWarnings",
            "ProtectedView",
            "DisableAttachementsInPV",
            "DisableInternetFilesInPV",
            "DisableUnsafeLocationsInPV",
            "blockcontentexecutionfrominternet",
        ],
    ),
    (
        "May attempt to modify the VBA code (self-modification)",
        &["VBProject", "VBComponents", "CodeModule", "AddFromString"],
    ),
    (
        "May modify Excel 4 Macro formulas at runtime (XLM/XLF)",
        &["FORMULA.FILL"],
    ),
];

pub(crate) const SUSPICIOUS_KEYWORDS_REGEX: &[(&str, &[&str])] = &[
    (
        "May use Word Document Variables to store and hide data",
        &["\\.\\s*Variables"],
    ),
    (
        "May run a shellcode in memory",
        &[
            "EnumSystemLanguageGroupsW?",
            "EnumDateFormats(?:W|(?:Ex){1,2})?",
        ],
    ),
    (
        "May run an executable file or a system command on a Mac (if combined with libc.dylib)",
        &["system", "popen", "exec[lv][ep]?"],
    ),
    (
        "May run an executable file or a system command using Excel 4 Macros (XLM/XLF)",
        &["!EXEC"],
    ),
    (
        "Could contain a function that allows to run an executable file or a system command using Excel 4 Macros (XLM/XLF)",
        &["Could contain following functions: EXEC"],
    ),
    (
        "May call a DLL using Excel 4 Macros (XLM/XLF)",
        &["!REGISTER"],
    ),
    (
        "Could contain a function that allows to call a DLL using Excel 4 Macros (XLM/XLF)",
        &["Could contain following functions: REGISTER"],
    ),
];
